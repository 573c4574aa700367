// What a Relay app of roombook would hold: a room page whose reservations paginate
// (@connection over reservationsConnection, refetched through Node), a paginated room list,
// and a booking. relay-compiler checks them against schema.graphql and persists them.
import { graphql } from 'react-relay';

export const roomPage = graphql`
  query RoomPageQuery($room: ID!) {
    room(id: $room) {
      name
      ...RoomReservations_room
    }
  }
`;
